// Package logging sets up the logrus logger that every subcommand writes to stderr, in the
// seed's style: "INFO[0000] Starting VM Live Migrate Detector", where the number is the seconds
// since the process started. Colour is used only on a terminal and never when NO_COLOR is set.
package logging
