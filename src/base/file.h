/* file.h - reading a whole file into a capped buffer.
 *
 * How the project reads a whole file that a user or a configuration names (split CSVs,
 * universe lists, Lambda events, AWS credentials files, the fakes' fixtures; bar CSVs, which
 * can be far larger, are read in blocks by collect/csvimport.c): the content is
 * appended to a struct buf whose max is the cap, so a file that is too large is an error, never
 * a truncation.
 */
#ifndef BASE_FILE_H
#define BASE_FILE_H

#include "base/buf.h"
#include "base/err.h"

/* Append the whole content of the file at path to out.  A regular file larger than the room
 * left under out->max is refused before anything is read; a file that grows past it while
 * being read (or a pipe or device that gives more) is ERR_TOOBIG too.  Errors, each with a
 * message naming path:
 *   ERR_NOTFOUND  path, or a directory on the way to it, does not exist;
 *   ERR_USAGE     path is a directory;
 *   ERR_TOOBIG    over the cap ("'p' is N bytes, over the limit of M");
 *   ERR_IO        anything else the system refuses (permissions, read errors).
 * The data is read straight into out (no copy on the stack), so a secret read this way is
 * only where the caller can wipe it.  On failure out may hold part of the file. */
int file_read(const char *path, struct buf *out, struct diag *d);

#endif
