/** A small JSON client for the control plane's REST API, with a cookie jar for one user. */
export interface RestResponse<T = unknown> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

export class RestClient {
  constructor(
    readonly baseUrl: string,
    private bearer?: string,
    private readonly cookies = new Map<string, string>(),
  ) {}

  /** The same user, cookie jar shared, talking to another control-plane node. */
  at(baseUrl: string): RestClient {
    return new RestClient(baseUrl, this.bearer, this.cookies);
  }

  static async login(baseUrl: string, username: string, password: string): Promise<RestClient> {
    const client = new RestClient(baseUrl);
    const res = await client.request('POST', '/api/auth/login', { username, password });
    if (res.status >= 300)
      throw new Error(`login as ${username} failed: ${res.status} ${JSON.stringify(res.body)}`);
    return client;
  }

  /** The session cookies as a `Cookie` header, for raw HTTP requests (streams, slow readers). */
  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  withBearer(token: string): RestClient {
    return new RestClient(this.baseUrl, token);
  }

  get<T = unknown>(path: string): Promise<RestResponse<T>> {
    return this.request<T>('GET', path);
  }
  post<T = unknown>(path: string, body?: unknown): Promise<RestResponse<T>> {
    return this.request<T>('POST', path, body);
  }
  put<T = unknown>(path: string, body?: unknown): Promise<RestResponse<T>> {
    return this.request<T>('PUT', path, body);
  }
  delete<T = unknown>(path: string): Promise<RestResponse<T>> {
    return this.request<T>('DELETE', path);
  }

  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<RestResponse<T>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    // Cookie sessions need the CSRF token on writes (double submit); bearer tokens do not.
    const csrf = this.cookies.get('rf_csrf');
    if (csrf && method !== 'GET' && method !== 'HEAD') headers['x-csrf-token'] = csrf;
    if (this.bearer) headers.authorization = `Bearer ${this.bearer}`;
    // API clients (not browsers) send no Origin; CSRF checks apply to form posts.
    const res = await fetch(this.baseUrl + path, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(15_000),
    });
    const setCookies = res.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      if (eq > 0) this.cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = text;
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }
}
