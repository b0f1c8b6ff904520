//! Start, stop and restart a real redis-server on a free port (owned by the store work).
