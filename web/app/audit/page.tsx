import { AuditLog } from '../../components/Operations';

export default function Page() {
  return <AuditLog />;
}
