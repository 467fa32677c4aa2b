/** The API version in /api/openapi.json; openapi.test.ts keeps it equal to package.json's version. */
export const API_VERSION = '0.1.0';
