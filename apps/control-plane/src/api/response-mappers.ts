/** Drops any userinfo from a repository URL (`s3:https://key:secret@host/b` → `s3:https://host/b`). */
export function redactRepoUrl(url: string): string {
  return url.replace(/(:\/\/)[^/@\s]*@/, '$1');
}
