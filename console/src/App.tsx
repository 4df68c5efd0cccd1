import { useEffect, useState, type FormEvent } from 'react';
import { session } from './api';
import { OverviewPage } from './pages/OverviewPage';
import { InventoryPage } from './pages/InventoryPage';
import { MappingPage } from './pages/MappingPage';
import { OrdersPage } from './pages/OrdersPage';
import { ReservationsPage } from './pages/ReservationsPage';
import { JobsPage } from './pages/JobsPage';

const pages = [
  { path: 'overview', title: 'Overview', Page: OverviewPage },
  { path: 'inventory', title: 'Inventory', Page: InventoryPage },
  { path: 'mapping', title: 'Mapping', Page: MappingPage },
  { path: 'orders', title: 'Orders', Page: OrdersPage },
  { path: 'reservations', title: 'Reservations', Page: ReservationsPage },
  { path: 'jobs', title: 'Jobs', Page: JobsPage },
] as const;

/** The page is the URL hash (#/inventory), so reloading and sharing a link keep it with no server routes. */
function currentPath(): string {
  return window.location.hash.replace(/^#\/?/, '') || 'overview';
}

function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [key, setKey] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!key.trim()) return;
    session.signIn(key.trim());
    onSignedIn();
  };
  return (
    <main id="main" className="sign-in">
      <h1>Stockbridge console</h1>
      <form onSubmit={submit} aria-labelledby="sign-in-heading">
        <h2 id="sign-in-heading">Sign in</h2>
        <p>Use a Stockbridge API key. It is kept in this tab's session storage only and shown pages follow its scopes.</p>
        <label htmlFor="api-key">API key</label>
        <input id="api-key" type="password" autoComplete="off" value={key} onChange={(event) => setKey(event.target.value)} required />
        <button type="submit">Sign in</button>
      </form>
    </main>
  );
}

export function App() {
  const [signedIn, setSignedIn] = useState(() => session.key() !== null);
  const [path, setPath] = useState(currentPath);
  useEffect(() => {
    const onHash = () => setPath(currentPath());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  const page = pages.find((candidate) => candidate.path === path) ?? pages[0];
  useEffect(() => {
    document.title = `${page.title} · Stockbridge console`;
  }, [page]);

  if (!signedIn) return <SignIn onSignedIn={() => setSignedIn(true)} />;
  const { Page } = page;
  return (
    <>
      <a className="skip" href="#main" onClick={(event) => { event.preventDefault(); document.getElementById('main')?.focus(); }}>
        Skip to content
      </a>
      <header className="top">
        <p className="brand">Stockbridge</p>
        <nav aria-label="Console pages">
          <ul>
            {pages.map((candidate) => (
              <li key={candidate.path}>
                <a href={`#/${candidate.path}`} aria-current={candidate === page ? 'page' : undefined}>
                  {candidate.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <button
          type="button"
          className="secondary"
          onClick={() => {
            session.signOut();
            setSignedIn(false);
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <h1>{page.title}</h1>
        <Page />
      </main>
    </>
  );
}
