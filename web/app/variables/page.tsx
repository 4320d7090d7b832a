import { Variables } from '../../components/Operations';

export default function Page() {
  return <Variables />;
}
