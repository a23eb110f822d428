// The two headers between the stack's CloudFront distribution and the API (infra/aws/dashboard.ts sets them,
// functions/aws/api-app.ts reads them): the key that proves a request came through the distribution, and
// the viewer's address as CloudFront saw it.

/** The header CloudFront adds to every request it sends the API (its value: the stack's origin key). */
export const ORIGIN_KEY_HEADER = 'x-stepgate-origin-key';
/** The header CloudFront's viewer-request function sets on API requests to the viewer's address. */
export const VIEWER_ADDRESS_HEADER = 'x-stepgate-viewer-address';
