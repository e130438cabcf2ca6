//! Sovera SovX (filled in below).
