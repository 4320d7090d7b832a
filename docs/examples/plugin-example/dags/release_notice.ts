// A DAG that uses @acme/updraft-chat: announce a release, then wait until someone on the
// channel acknowledges it. (docs/plugins.md; deployed and run by test/plugin-example.test.ts.)
import { dag, params, task } from '@updraft/sdk';
import { messageAcknowledged, postMessage, type PostMessageParams } from '@acme/updraft-chat';
import { z } from 'zod';

const Params = z.object({ version: z.string() });

// A task's argument is a literal or one upstream value, so params built at run time come from a task.
const notice = task('notice', (): PostMessageParams => ({ connection: 'team_chat', text: `Version ${params<z.infer<typeof Params>>().version} is out` }));
const announce = postMessage('announce');
const watch = task('watch', (messageId: string) => ({ connection: 'team_chat', messageId }));
const acknowledged = messageAcknowledged({ id: 'acknowledged', mode: 'poke', interval: '1s', timeout: '10m' });

export default dag({ id: 'release_notice', params: Params }, () => {
  acknowledged(watch(announce(notice())));
});
