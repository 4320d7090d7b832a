/**
 * Throw from a task to fail its try without any further retries
 * (for errors that another try cannot fix, such as invalid input).
 */
export class NonRetryableError extends Error {
  override name = 'NonRetryableError';
}
