// The version of this build, reported at registration and by --version.

/** Semantic version of ZoneScaler. */
export const VERSION = "0.1.0";
