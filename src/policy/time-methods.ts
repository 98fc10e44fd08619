/**
 * CEL's timestamp accessors (getDayOfWeek, getHours, … with an optional time zone), computed with
 * luxon and installed over @bufbuild/cel's own (ADR 0016). Its 0.6.1 versions read a named zone
 * through Intl with `hour12: false`, which formats the first hour after midnight as "24" and so
 * moves the date a day on: at 00:30 on a Friday in Berlin, getDayOfWeek("Europe/Berlin") says
 * Saturday, exactly the rule "no deploys on Fridays" needs to get right. They also build the result
 * as a local-time Date, which makes them depend on the process's TZ. These read the instant in the
 * zone asked for (UTC without one), per the CEL spec: fixed offsets ("+01:00"), IANA names, "UTC".
 */
import { celMethod, CelScalar, objectType, type CelFunc } from '@bufbuild/cel';
import { DateTime } from 'luxon';

const TIMESTAMP = objectType('google.protobuf.Timestamp');
const { STRING, INT } = CelScalar;
/** A fixed offset; the CEL spec allows the sign to be left out ("02:00" is "+02:00"). */
const FIXED_OFFSET = /^([+-]?)(\d\d):(\d\d)$/;

interface TimestampMessage {
  message: { seconds: bigint; nanos: number };
}

/** The instant of a CEL timestamp as a luxon DateTime in `tz` (UTC when absent). @throws Error for an unknown zone */
export function inZone(ts: TimestampMessage, tz?: string): DateTime {
  const ms = Number(ts.message.seconds) * 1000 + Math.floor(ts.message.nanos / 1_000_000);
  const offset = tz === undefined ? null : FIXED_OFFSET.exec(tz);
  const zone = tz === undefined ? 'UTC' : offset ? `UTC${offset[1] || '+'}${offset[2]}:${offset[3]}` : tz;
  const dt = DateTime.fromMillis(ms, { zone });
  if (!dt.isValid)
    throw new Error(`unknown time zone "${tz}": use an IANA name such as "Europe/Berlin", "UTC", or an offset such as "+01:00"`);
  return dt;
}

/** The CEL accessors, each 0-based or 1-based as the CEL spec says. */
const ACCESSORS: Record<string, (d: DateTime) => number> = {
  getFullYear: (d) => d.year,
  getMonth: (d) => d.month - 1,
  getDate: (d) => d.day,
  getDayOfMonth: (d) => d.day - 1,
  // CEL counts from Sunday = 0; luxon's ISO weekday has Sunday = 7.
  getDayOfWeek: (d) => d.weekday % 7,
  getDayOfYear: (d) => d.ordinal - 1,
  getHours: (d) => d.hour,
  getMinutes: (d) => d.minute,
  getSeconds: (d) => d.second,
  getMilliseconds: (d) => d.millisecond,
};

/** The overloads to pass as `funcs` to celEnv, with and without a time zone argument. */
export const TIME_METHODS: CelFunc[] = Object.entries(ACCESSORS).flatMap(([name, get]) => [
  celMethod(name, TIMESTAMP, [], INT, function (this: unknown) {
    return BigInt(get(inZone(this as TimestampMessage)));
  }),
  celMethod(name, TIMESTAMP, [STRING], INT, function (this: unknown, tz: string) {
    return BigInt(get(inZone(this as TimestampMessage, tz)));
  }),
]);
