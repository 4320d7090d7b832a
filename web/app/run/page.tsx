import { Suspense } from 'react';
import { RunPage } from '../../components/RunPage';

export default function Page() {
  return (
    <Suspense fallback={<p className="muted">Loading…</p>}>
      <RunPage />
    </Suspense>
  );
}
