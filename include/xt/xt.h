/* xt.h - umbrella header for libxt, the xtrading matching core. */
#ifndef XT_XT_H
#define XT_XT_H

#include "xt/command.h"
#include "xt/decimal.h"
#include "xt/engine.h"
#include "xt/error.h"
#include "xt/event.h"
#include "xt/types.h"

#endif
