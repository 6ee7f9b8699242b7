// The Backend interface has no code of its own; cpu/ and cuda/ implement it.
#include "backend/backend.hpp"
