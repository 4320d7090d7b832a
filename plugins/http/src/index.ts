export { baseUrl, httpConnection } from './connection.js';
export { httpRequest, HttpRequestParams, httpSensor, HttpSensorParams } from './http.js';
export { HttpStatusError, HttpTimeout, ResponseTooLarge, retryAfterMs } from './request.js';
