export { SCRUBBER_APID, ScrubberService, scrubberSpec, type ScrubberServiceOptions } from "./service.js";
