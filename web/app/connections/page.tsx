import { Connections } from '../../components/Operations';

export default function Page() {
  return <Connections />;
}
