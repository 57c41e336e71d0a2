/*
 * faults.h - test hooks built only into dmsnap-faults (make dmsnap-faults).
 *
 *   DMSNAP_PAUSE=STEP:PATH  on reaching the named step, create PATH and wait
 *                           (at most 120 s) until someone removes it: a test
 *                           holds a command at a known point and races it.
 * Steps: locked (a workflow took dmsnap's lock), cow-checked, synced, staged
 * (snap: before its sync, before zeroing the header, before the freeze) and
 * merge-switch (merge: the snapshot suspended, NAME not yet), labelled
 * (grow: the new member labelled, the record not yet naming it).
 * In the plain build fault_pause() is nothing.
 */
#ifndef DMSNAP_FAULTS_H
#define DMSNAP_FAULTS_H

#ifdef DMSNAP_FAULTS
void faults_install(void);
void fault_pause(const char *step);
#else
#define fault_pause(step) ((void)0)
#endif

#endif
