// Times (ms since epoch) as the Azure adapters store the ones they filter on: Edm.Int64. A JavaScript number
// goes on the wire untyped, and the service takes an untyped whole number past 32 bits as Edm.Double; a
// query compares a property only with a literal of its own type, so a filter like `claimedAt lt 123L` needs
// the property to be an Int64 for certain, on Table Storage and Cosmos DB for Table alike.
import type { EdmTypes } from '@azure/data-tables';

/** `ms` as an Edm.Int64 property value (a whole number). */
export function int64(ms: number): { value: string; type: Extract<EdmTypes, 'Int64'> } {
  if (!Number.isSafeInteger(ms)) throw new RangeError(`${ms} is not a whole number of milliseconds`);
  return { value: String(ms), type: 'Int64' };
}

/** The number an Int64 (read back as a bigint), Int32 or Double property holds; NaN for anything else. */
export function fromInt64(value: unknown): number {
  if (typeof value === 'bigint' || typeof value === 'number') return Number(value);
  if (typeof value === 'object' && value !== null && 'value' in value) return Number(value.value);
  return Number.NaN;
}

/** An OData literal for an Int64 comparison (`lastAt lt ${int64Literal(ms)}`). */
export function int64Literal(ms: number): string {
  return `${int64(ms).value}L`;
}
