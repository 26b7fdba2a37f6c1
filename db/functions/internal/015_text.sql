/*
 * The one trimming rule of the product: what the contract calls "after trimming" for names,
 * emoji, content and identifiers. It strips Unicode white space at both ends — exactly the
 * characters JavaScript's String.prototype.trim strips (tabs, line ends, NBSP, the U+2000 spaces,
 * ideographic space, BOM …), so a gateway that trims first and the database agree — and nothing
 * inside the text.
 */
create function internal.trim_text(p_text text)
returns text
language sql immutable parallel safe
as $$
  select btrim(p_text, E' \t\n\u000b\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff')
$$;
comment on function internal.trim_text(text) is 'Trims Unicode white space (the set JavaScript''s trim() removes) at both ends.';
