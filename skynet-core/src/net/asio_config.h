// Included before any asio header (every file that uses asio is in net/, and includes this first).
//
// ThreadSanitizer does not model std::atomic_thread_fence, which asio's fenced blocks use around handler
// calls; gcc warns about it and -Werror stops the build.  Under TSAN asio's plain blocks are used instead:
// handlers already pass between threads through the scheduler's mutex, which TSAN does see, so nothing
// it relies on is lost.  Normal builds are unchanged.
#pragma once

#if defined(__SANITIZE_THREAD__) && !defined(ASIO_DISABLE_FENCED_BLOCK)
#define ASIO_DISABLE_FENCED_BLOCK 1
#endif
