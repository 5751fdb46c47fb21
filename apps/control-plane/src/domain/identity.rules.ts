/** What a valid user name, password, host name and platform name look like; the API DTOs and the services share them. */
export const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export const MIN_PASSWORD_LENGTH = 8;

export const HOSTNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/** GOOS/GOARCH-style names; stored lower-cased so one host never shows as both `linux` and `Linux`. */
export const PLATFORM_PATTERN = /^[A-Za-z0-9_]{1,32}$/;
