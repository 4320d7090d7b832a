import { DagList } from '../components/DagList';

export default function Home() {
  return <DagList />;
}
