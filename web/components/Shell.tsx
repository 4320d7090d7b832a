'use client';
// The frame of every page: the urql client, who the caller is (a token prompt when the API
// requires one), navigation, and the theme switch.
import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { Provider, useQuery } from 'urql';
import { createClient, storedToken, storeToken } from '../lib/client';
import { ME, type Role } from '../lib/queries';

interface Auth {
  role: Role | null;
  actor: string;
  /** Whether the caller may trigger, clear, mark and pause (user and above). */
  canAct: boolean;
  /** Whether the caller may change variables and connections and read the audit log (op and above). */
  canOperate: boolean;
  signOut(): void;
}

const AuthContext = createContext<Auth>({ role: null, actor: 'anonymous', canAct: false, canOperate: false, signOut() {} });

export function useAuth(): Auth {
  return useContext(AuthContext);
}

export function Shell({ children }: { children: ReactNode }) {
  // A new client when the token changes: nothing cached under one token shows under another.
  const [generation, setGeneration] = useState(0);
  const [refused, setRefused] = useState(false);
  const client = useMemo(() => createClient(() => setRefused(true)), [generation]);
  const renew = useCallback(() => {
    setRefused(false);
    setGeneration((g) => g + 1);
  }, []);
  return (
    <Provider value={client}>
      <Who refused={refused} renew={renew}>
        {children}
      </Who>
    </Provider>
  );
}

function Who({ refused, renew, children }: { refused: boolean; renew: () => void; children: ReactNode }) {
  const [{ data, error }] = useQuery({ query: ME, requestPolicy: 'network-only' });
  const me = data?.me;
  const signOut = useCallback(() => {
    storeToken(null);
    renew();
  }, [renew]);
  const auth = useMemo<Auth>(() => {
    const role = me?.role ?? null;
    return {
      role,
      actor: me?.actor ?? 'anonymous',
      canAct: role === 'user' || role === 'op' || role === 'admin',
      canOperate: role === 'op' || role === 'admin',
      signOut,
    };
  }, [me, signOut]);
  const needsToken = refused || (me !== undefined && me.role === null);
  return (
    <AuthContext.Provider value={auth}>
      <Header />
      <main id="main" className="main" tabIndex={-1}>
        {error && !needsToken ? <p className="error" role="alert">Cannot reach the Updraft API: {error.message}</p> : null}
        {/* Pages load alongside `me` (no waterfall); their action buttons appear once the role is known. */}
        {needsToken ? <TokenPrompt rejected={refused || storedToken() !== null} onToken={(t) => (storeToken(t), renew())} /> : children}
      </main>
    </AuthContext.Provider>
  );
}

function TokenPrompt({ rejected, onToken }: { rejected: boolean; onToken: (token: string) => void }) {
  const [token, setToken] = useState('');
  return (
    <form
      className="card token-prompt"
      onSubmit={(e) => {
        e.preventDefault();
        if (token.trim()) onToken(token.trim());
      }}
    >
      <h1>Sign in with an API token</h1>
      <p>This Updraft server requires a token. Create one with <code>updraft tokens create --role viewer</code> (or user, op, admin) and paste it here; it stays in this browser only.</p>
      {rejected ? <p className="error" role="alert">The server refused the token; check it or create a new one.</p> : null}
      <label>
        API token
        <input type="password" autoComplete="off" value={token} onChange={(e) => setToken(e.target.value)} placeholder="upd_…" autoFocus />
      </label>
      <button type="submit" className="primary">Sign in</button>
    </form>
  );
}

const LINKS = [
  { href: '/', label: 'DAGs' },
  { href: '/workers', label: 'Workers' },
  { href: '/variables', label: 'Variables' },
  { href: '/connections', label: 'Connections' },
  { href: '/audit', label: 'Audit log' },
];

function Header() {
  const pathname = usePathname();
  const auth = useAuth();
  // Read after hydration: the exported HTML was rendered without a browser's storage.
  const [hasToken, setHasToken] = useState(false);
  useEffect(() => setHasToken(storedToken() !== null), [auth]);
  return (
    <header className="header">
      <a className="skip" href="#main">Skip to content</a>
      <Link prefetch={false} href="/" className="brand">Updraft</Link>
      <nav aria-label="Main">
        {LINKS.map((l) => (
          <Link prefetch={false} key={l.href} href={l.href} aria-current={pathname === l.href ? 'page' : undefined}>
            {l.label}
          </Link>
        ))}
      </nav>
      <span className="spacer" />
      <span className="muted who" title="Your role on this server">
        {auth.actor}
        {auth.role ? ` · ${auth.role}` : ''}
      </span>
      {hasToken ? <button onClick={auth.signOut}>Sign out</button> : null}
      <ThemeToggle />
    </header>
  );
}

function ThemeToggle() {
  const [theme, setTheme] = useState<'light' | 'dark' | null>(null);
  useEffect(() => {
    const saved = window.localStorage.getItem('updraft.theme');
    const initial = saved === 'dark' || saved === 'light' ? saved : window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
    setTheme(initial);
  }, []);
  useEffect(() => {
    if (theme) document.documentElement.dataset.theme = theme;
  }, [theme]);
  const next = theme === 'dark' ? 'light' : 'dark';
  return (
    <button
      aria-label={`Switch to the ${next} theme`}
      onClick={() => {
        window.localStorage.setItem('updraft.theme', next);
        setTheme(next);
      }}
    >
      {theme === 'dark' ? '☀ Light' : '☾ Dark'}
    </button>
  );
}
