// The supervisor: process supervision, health, safe mode, watchdog, boot record, configuration.
export {};
