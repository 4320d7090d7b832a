import { Suspense } from 'react';
import { DagPage } from '../../components/DagPage';

export default function Page() {
  return (
    <Suspense fallback={<p className="muted">Loading…</p>}>
      <DagPage />
    </Suspense>
  );
}
