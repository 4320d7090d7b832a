export { openTransport, smtpConnection } from './connection.js';
export { EmailNotSent, sendEmail, SendEmailParams } from './email.js';
