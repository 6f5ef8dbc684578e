// The login page: a user's API token (how the gateway's roles work: an
// admin makes users and gives each their token), checked with
// GET /api/whoami. Refusals are shown with the gateway's reason.
import { useState } from "preact/hooks";
import { sessionFromWhoami, tokenProblem, type Session } from "../logic/session.js";
import { errorText, request } from "./api.js";

export function Login(props: { onLogin: (s: Session) => void; notice?: string }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    const problem = tokenProblem(token);
    if (problem) {
      setError(problem);
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const { body } = await request("GET", "/api/whoami", token.trim());
      const session = sessionFromWhoami(token, body);
      if (!session) throw new Error("the gateway's answer to /api/whoami is not a user and a role");
      props.onLogin(session);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="login">
      <h1>Umbra operator console</h1>
      <p>Log in with your API token. An admin creates users and their tokens (<code>umbra users add NAME --role operator</code>); the first admin's token is in the gateway's admin token file.</p>
      {props.notice ? (
        <p class="notice" role="status" data-testid="login-notice">
          {props.notice}
        </p>
      ) : null}
      <form onSubmit={submit} data-testid="login-form">
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="current-password"
          spellcheck={false}
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          aria-invalid={error ? "true" : "false"}
          aria-describedby={error ? "login-error" : undefined}
          data-testid="login-token"
        />
        <button type="submit" disabled={busy} data-testid="login-submit">
          {busy ? "Checking…" : "Log in"}
        </button>
        {error ? (
          <p id="login-error" class="error" role="alert" data-testid="login-error">
            {error}
          </p>
        ) : null}
      </form>
    </main>
  );
}
