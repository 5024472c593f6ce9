/* HTTP reason phrases, shared by the collector and the agent's pull endpoints. */
#ifndef WARD_BASE_HTTP_STATUS_H_
#define WARD_BASE_HTTP_STATUS_H_

/** The reason phrase of a status code ("Bad Request"), "Unknown" for codes ward never sends. */
const char *ward_http_status_text(int status);

#endif /* WARD_BASE_HTTP_STATUS_H_ */
