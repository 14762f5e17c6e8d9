// Preloaded into a test child with `node --import <this file>`: shifts Date.now() by
// SWANLOG_TEST_CLOCK_SKEW_MS milliseconds, as on a machine whose clock is off.
const skew = Number(process.env.SWANLOG_TEST_CLOCK_SKEW_MS ?? '0');
const realNow = Date.now.bind(Date);
Date.now = () => realNow() + skew;

export {};
