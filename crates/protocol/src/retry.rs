//! The pure retry decision (filled in below).
