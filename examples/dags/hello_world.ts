import { context, dag, task } from '@updraft/sdk';

// The seed example: three tasks in a line, each receiving the previous one's value.
const makeHi = task('make_hi', () => 'hi');

const readyHi = task('ready_hi', (greeting: string) => `${greeting}, ready to fly!`);

const sayHi = task('say_hi', (message: string) => {
  context().log.info(message);
});

export default dag({ id: 'hello_world', description: 'Says hi, TaskFlow style', tags: ['example'] }, () => {
  sayHi(readyHi(makeHi()));
});
