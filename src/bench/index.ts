export * from './report.js';
export * from './suite.js';
export * from './suites.js';
