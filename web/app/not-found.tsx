import Link from 'next/link';

export default function NotFound() {
  return (
    <section className="empty">
      <strong>No such page</strong>
      <Link href="/">Back to the DAGs</Link>
    </section>
  );
}
