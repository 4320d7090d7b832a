export { CommandFailed, CommandTimedOut, shell, ShellParams } from './shell.js';
export { shellQuote } from './templates.js';
