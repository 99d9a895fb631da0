import { useState, type FormEvent } from 'react';

/**
 * The login prompt: the same bearer token as the CLI. It is kept in this tab's session storage
 * only (gone when the tab closes) and sent in the Authorization header, never in a URL.
 */
export function Login({ message, onToken }: { message: string | null; onToken: (token: string) => void }) {
  const [token, setToken] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (token.trim()) onToken(token.trim());
  };
  return (
    <section className="login" aria-labelledby="login-title">
      <h1 id="login-title">Sign in to failsmall</h1>
      {message ? <p className="failure" role="alert">{message}</p> : null}
      <form onSubmit={submit}>
        <label htmlFor="token">API token</label>
        <input id="token" name="token" type="password" autoComplete="off" spellCheck={false} value={token} onChange={(e) => setToken(e.target.value)} required />
        <button type="submit">Sign in</button>
      </form>
      <p className="hint">The token the CLI uses (<code>FAILSMALL_TOKEN</code>), or a viewer token: <code>failsmall token create --name NAME --role viewer</code>. It stays in this tab only.</p>
    </section>
  );
}
