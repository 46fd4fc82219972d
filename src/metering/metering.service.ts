// The name src/main.ts still asks the app for (app.get(MeteringService)): the request recorder. Delete this
// file once main.ts asks for RequestRecorder itself.
export { RequestRecorder as MeteringService } from './request-recorder';
