// Minimal typings of the npm syslog parsers the parse benchmark compares against.
declare module 'glossy' {
  export const Parse: { parse(line: string): { host?: string; severityID?: number; message?: string } | null };
}
declare module 'nsyslog-parser' {
  function parse(line: string): { host?: string; levelval?: number; message?: string; appName?: string };
  export default parse;
}
declare module 'syslog-parse' {
  function parse(line: string): { host?: string; severityCode?: number; message?: string; process?: string } | null;
  export default parse;
}
