export { openClient, postgresConnection } from './connection.js';
export { sqlQuery, SqlQueryParams, sqlSensor, SqlSensorParams, TooManyRows } from './sql.js';
