/*
 * control.c: placeholder until the control socket lands (issue 3).
 */
#include "ccd.h"
#include "control.h"

int
control_open(struct ccd *ccd, char **cause)
{
	(void)ccd;
	(void)cause;
	return 0;
}

void
control_close(struct ccd *ccd)
{
	(void)ccd;
}
