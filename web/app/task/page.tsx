import { Suspense } from 'react';
import { TaskPage } from '../../components/TaskPage';

export default function Page() {
  return (
    <Suspense fallback={<p className="muted">Loading…</p>}>
      <TaskPage />
    </Suspense>
  );
}
