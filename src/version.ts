// The version of this build, reported at registration and by --version.

/** Semantic version of ZoneScaler. */
export const VERSION = "0.1.0";

/** The version a node registers with: its configured `version`, else the build's. */
export function nodeVersion(configured: string): string {
  return configured || VERSION;
}
