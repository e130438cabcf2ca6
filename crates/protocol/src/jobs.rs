//! Pure job follow-up decisions (filled in below).
