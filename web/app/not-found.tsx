import Link from 'next/link';

export default function NotFound() {
  return (
    <section className="empty">
      <strong>No such page</strong>
      <Link prefetch={false} href="/">Back to the DAGs</Link>
    </section>
  );
}
