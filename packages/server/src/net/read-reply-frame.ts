/** A read reply with at least this much data is bulk: it goes out in parts, behind small replies. */
export const BULK_REPLY_BYTES = 16 * 1024;
