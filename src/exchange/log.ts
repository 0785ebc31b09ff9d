/**
 * Log lines of an exchange, with stable codes an operator can grep. The engine never prints: it
 * hands each line to the injected logger (the CLI writes them to stderr).
 *
 * EX001 info  exchange started            EX006 warn  large delta (most branches dirty)
 * EX002 info  root compare confirmed      EX007 warn  timed out
 * EX003 info  branch compare confirmed    EX008 error a source failed
 * EX004 info  clock compare: deltas found EX009 info  exchange finished
 * EX005 info  throttled to maxResults     EX010 debug ids dirty once, clean on confirm (writes in flight)
 *                                         EX011 info  large delta: moving key lists instead of leaves
 * EX012 debug in sync by the tops' sketches    EX013 debug syndromes: words with several differences walked
 */
export type ExchangeLogCode =
  | 'EX001'
  | 'EX002'
  | 'EX003'
  | 'EX004'
  | 'EX005'
  | 'EX006'
  | 'EX007'
  | 'EX008'
  | 'EX009'
  | 'EX010'
  | 'EX011'
  | 'EX012'
  | 'EX013';

export interface ExchangeLogLine {
  readonly code: ExchangeLogCode;
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  /** The exchange id and the figures of the line. */
  readonly fields: Readonly<Record<string, string | number | boolean>>;
}

export type ExchangeLogger = (line: ExchangeLogLine) => void;
