/**
 * One call of `read` per distinct key, however many callers ask at once: callers of a key share
 * its first call's promise (a rejected one too, so a failing read is not repeated either). For
 * answers that are the same for every caller within one question (a status over ten hosts on one
 * release reads that release once).
 */
export function oncePerKey<K, V>(read: (key: K) => Promise<V>): (key: K) => Promise<V> {
  const calls = new Map<K, Promise<V>>();
  return (key) => {
    let call = calls.get(key);
    if (!call) calls.set(key, (call = read(key)));
    return call;
  };
}
