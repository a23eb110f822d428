// How the functions answer a waiting workflow: a POST of JSON to the step's callback URL (GCP Workflows'
// `events.create_callback_endpoint`), authorized with the function's own identity — an OAuth access token
// of its service account, which holds `workflows.callbacks.send` (roles/workflows.invoker). The token is a
// credential: it is sent to callback URLs under the configured base (Workflows' own host) and nowhere else,
// whatever URL a request names, and never appears in an error or a log line.
import { GoogleAuth } from 'google-auth-library';

/** Where the access token comes from (google-auth-library on Cloud Run; injected in tests). */
export interface AccessTokens {
  token(): Promise<string>;
}

/** The service account's token from the metadata server (Application Default Credentials). */
export function googleAccessTokens(): AccessTokens {
  const auth = new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
  return {
    token: async () => {
      const token = await auth.getAccessToken();
      if (typeof token !== 'string' || token === '')
        throw new Error('no access token for the service account');
      return token;
    },
  };
}

export class CallbackUrlError extends Error {
  override name = 'CallbackUrlError';
}

/** `delivered`: the workflow took it; `gone`: no such callback any more (the execution ended). */
export type CallbackResult = 'delivered' | 'gone';

export class CallbackPoster {
  private readonly base: URL;

  constructor(
    private readonly tokens: AccessTokens,
    base: string,
  ) {
    this.base = new URL(base);
  }

  /** Refuses a URL outside the callback base (CallbackUrlError), before any token is fetched. */
  check(url: string): URL {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new CallbackUrlError(`callback URL ${JSON.stringify(url)} is not a URL`);
    }
    if (parsed.origin !== this.base.origin || !parsed.pathname.startsWith(this.base.pathname))
      throw new CallbackUrlError(`callback URL ${url} is not under ${this.base.href}`);
    return parsed;
  }

  /** Posts `body`; throws on any answer but 2xx and 404 (a callback that no longer exists). */
  async post(url: string, body: unknown): Promise<CallbackResult> {
    const target = this.check(url);
    const answer = await fetch(target, {
      method: 'POST',
      headers: { authorization: `Bearer ${await this.tokens.token()}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      redirect: 'error',
    });
    const text = await answer.text();
    if (answer.ok) return 'delivered';
    if (answer.status === 404) return 'gone';
    throw new Error(`the callback ${url} answered ${answer.status}: ${text.slice(0, 300)}`);
  }
}
