import { Workers } from '../../components/Operations';

export default function Page() {
  return <Workers />;
}
